// The two Web platform APIs core relies on, declared here because core compiles with no ambient
// types (see tsconfig.json): both exist as globals in Node.js 20 and in every browser, so core
// stays portable without importing `node:` modules.

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare var crypto: {
  readonly subtle: {
    digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
  };
};
