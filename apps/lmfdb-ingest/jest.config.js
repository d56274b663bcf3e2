module.exports = {
  displayName: 'lmfdb-ingest',
  preset: '../../jest.preset.js',
};
