// The shape of a node's TLS files before they are parsed: what grpc-js (OpenSSL) takes is PEM, and
// node:crypto's X509Certificate reads only a file's first certificate (DER too). So a CA file that
// holds a second certificate passed every check made on the first, and grpc-js then trusted both:
// a certificate of that other CA named proposer-<id> could vote as that proposer. A DER CA file
// passed too, and every handshake then failed without a word at start.

/** The labels of a file's PEM blocks in order ("CERTIFICATE", "PRIVATE KEY", ...). */
export function pemLabels(data: Buffer): string[] {
  return [...data.toString('latin1').matchAll(/^-----BEGIN ([A-Z0-9 ]+)-----\r?$/gm)].map((m) => m[1] as string);
}

const NOT_PEM = 'is not PEM (no -----BEGIN line): a DER file can be converted with openssl x509 -inform DER -in <file> -out <file>.pem';

/** Why `data` is not a CA file of the network (exactly one PEM certificate), or undefined. */
export function caFileProblem(data: Buffer): string | undefined {
  const labels = pemLabels(data);
  if (labels.length === 0) return NOT_PEM;
  const certificates = labels.filter((l) => l === 'CERTIFICATE').length;
  if (certificates === labels.length && certificates === 1) return undefined;
  return `holds ${labels.length} PEM blocks (${labels.join(', ')}), and a node would trust every certificate among them: the network trusts exactly one CA, so give a file with the network's CA certificate alone`;
}

/** Why `data` is not a node's certificate file (PEM, its own certificate first), or undefined. */
export function certificateFileProblem(data: Buffer): string | undefined {
  const labels = pemLabels(data);
  if (labels.length === 0) return NOT_PEM;
  return labels[0] === 'CERTIFICATE' ? undefined : `begins with a PEM block "${labels[0]}", not the node's CERTIFICATE`;
}

/**
 * Why `data` is not a usable private key file (one unencrypted PEM private key), or undefined.
 * An encrypted key would make OpenSSL ask for its passphrase on the terminal at the first handshake.
 */
export function keyFileProblem(data: Buffer): string | undefined {
  const labels = pemLabels(data).filter((l) => l.endsWith('PRIVATE KEY'));
  if (labels.length === 0) return 'holds no PEM private key (no -----BEGIN ... PRIVATE KEY----- line)';
  if (labels.length > 1) return `holds ${labels.length} private keys: give the node's one key alone`;
  if (labels[0] === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type: 4,ENCRYPTED\r?$/m.test(data.toString('latin1'))) {
    return 'is encrypted, and a node has no passphrase to give: decrypt it (openssl pkey -in <key> -out <key>.plain) and keep it readable by its owner only';
  }
  return undefined;
}
