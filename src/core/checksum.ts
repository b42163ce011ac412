// Checksums of migration text: sha256 over the text with a BOM dropped and CRLF turned into LF.
import { createHash } from 'node:crypto';

export const CHECKSUM_ALGORITHM = 'sha256';

/** The text a checksum covers, so a Windows checkout (BOM, CRLF) is not drift. */
export function normalizeText(text: string): string {
  const withoutBom = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return withoutBom.replace(/\r\n/g, '\n');
}

export function checksumText(text: string): string {
  const digest = createHash(CHECKSUM_ALGORITHM).update(normalizeText(text), 'utf8').digest('hex');
  return `${CHECKSUM_ALGORITHM}:${digest}`;
}
