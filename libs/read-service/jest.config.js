module.exports = {
  displayName: 'read-service',
  preset: '../../jest.preset.js',
};
