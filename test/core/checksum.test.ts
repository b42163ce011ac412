import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKSUM_ALGORITHM, checksumText, normalizeText } from '../../src/core/checksum.js';

const test = suite('core/checksum');

test('sha256: followed by the hex SHA-256 of the text (known vectors)', () => {
  assert.is(CHECKSUM_ALGORITHM, 'sha256');
  assert.is(checksumText(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.is(checksumText('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('the format is sha256: plus 64 lower-case hex digits', () => {
  assert.match(checksumText('CREATE TABLE product (id int);\n'), /^sha256:[0-9a-f]{64}$/);
});

test('non-ASCII text is hashed as its UTF-8 bytes', () => {
  // sha256 of the two bytes c3 a9 ("é" in UTF-8)
  assert.is(checksumText('\u00e9'), 'sha256:4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
});

test('a leading BOM does not change the checksum', () => {
  assert.is(checksumText('\uFEFFSELECT 1;\n'), checksumText('SELECT 1;\n'));
});

test('CRLF does not change the checksum, alone or together with a BOM', () => {
  const lf = 'CREATE TABLE a (id int);\n\nSELECT 1;\n';
  assert.is(checksumText(lf.replace(/\n/g, '\r\n')), checksumText(lf));
  assert.is(checksumText('\uFEFF' + lf.replace(/\n/g, '\r\n')), checksumText(lf));
  assert.is(checksumText('SELECT 1;\r\nSELECT 2;\n'), checksumText('SELECT 1;\nSELECT 2;\n'));
});

test('any other byte does change it', () => {
  const base = 'SELECT 1;\n';
  const variants = [
    'SELECT 1;', // missing final newline
    'SELECT 1;\n\n', // extra newline
    'SELECT 1; \n', // trailing space
    'select 1;\n', // case
    'SELECT\t1;\n', // tab for space
    'SELECT 1;\r', // a lone CR is not a line ending we fold
    'SELECT 1;\n\r', // LF CR is not CRLF
    'SELECT\uFEFF 1;\n', // a BOM that is not at the start
    ' \uFEFFSELECT 1;\n',
    'SELECT 2;\n',
  ];
  const digests = variants.map(checksumText);
  for (const [i, digest] of digests.entries()) assert.is.not(digest, checksumText(base), JSON.stringify(variants[i]));
  assert.is(new Set(digests).size, variants.length);
});

test('normalizeText drops only a leading BOM and turns only CRLF into LF', () => {
  assert.is(normalizeText('\uFEFFa\r\nb\rc\n\r\r\nd\uFEFF'), 'a\nb\rc\n\r\nd\uFEFF');
  assert.is(normalizeText('plain\n'), 'plain\n');
});

test.run();
