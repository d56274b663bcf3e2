module.exports = {
  displayName: 'acceptor-node',
  preset: '../../jest.preset.js',
};
