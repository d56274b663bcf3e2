module.exports = {
  displayName: 'status-page',
  preset: '../../jest.preset.js',
};
