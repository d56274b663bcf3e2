module.exports = {
  displayName: 'lmfdb-client',
  preset: '../../jest.preset.js',
};
