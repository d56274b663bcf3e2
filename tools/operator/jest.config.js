module.exports = {
  displayName: 'operator',
  preset: '../../jest.preset.js',
};
