// dbvc's version, kept equal to package.json's by a test; a constant so printing it loads nothing else.
export const VERSION = '0.1.0';
