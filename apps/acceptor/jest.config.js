module.exports = {
  displayName: 'acceptor',
  preset: '../../jest.preset.js',
};
