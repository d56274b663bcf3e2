module.exports = {
  displayName: 'proposal',
  preset: '../../jest.preset.js',
};
