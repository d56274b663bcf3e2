module.exports = {
  displayName: 'grpc-kit',
  preset: '../../jest.preset.js',
};
