export interface Mail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
}
export interface SmtpSink {
  port: number;
  url: string;
  mails: Mail[];
  mailsTo(to: string): Mail[];
  waitForMail(to: string, options?: { timeoutMs?: number; skip?: number; match?: (mail: Mail) => boolean }): Promise<Mail>;
  close(): Promise<void>;
}
export function startSmtpSink(options?: { port?: number }): Promise<SmtpSink>;
export function parseMessage(raw: string, envelope?: { from: string; to: string[] }): Mail;
export function decodeQuotedPrintable(text: string): string;
export function decodeHeader(value: string): string;
export function codeAndLink(mail: Mail): { code?: string; link?: string; token?: string | null };
