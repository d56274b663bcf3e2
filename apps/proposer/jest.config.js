module.exports = {
  displayName: 'proposer',
  preset: '../../jest.preset.js',
};
