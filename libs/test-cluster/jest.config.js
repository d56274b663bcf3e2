module.exports = {
  displayName: 'test-cluster',
  preset: '../../jest.preset.js',
};
