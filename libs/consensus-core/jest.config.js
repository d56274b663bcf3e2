module.exports = {
  displayName: 'consensus-core',
  preset: '../../jest.preset.js',
};
