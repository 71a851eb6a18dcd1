export function base32Decode(text: string): Buffer;
export function totpStep(ms?: number): number;
export function totpCode(secret: string, step?: number): string;
