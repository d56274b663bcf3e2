module.exports = {
  displayName: 'proto',
  preset: '../../jest.preset.js',
};
