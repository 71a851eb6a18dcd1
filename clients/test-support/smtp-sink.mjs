// A tiny SMTP server for tests: it accepts every mail (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
// QUIT; no TLS, no AUTH) and keeps it, decoded, in memory. todoql reaches it with
// --smtp-url smtp://127.0.0.1:PORT?tls=none.
import net from "node:net";

/** Decodes a quoted-printable body (RFC 2045) to bytes, then UTF-8. */
export function decodeQuotedPrintable(text) {
  const softBreaksGone = text.replace(/=\r?\n/g, "");
  const bytes = [];
  for (let i = 0; i < softBreaksGone.length; i++) {
    const c = softBreaksGone[i];
    const hex = softBreaksGone.slice(i + 1, i + 3);
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Decodes RFC 2047 encoded words in a header (=?utf-8?B?...?= and =?utf-8?Q?...?=). */
export function decodeHeader(value) {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset, encoding, data) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(data, "base64").toString("utf8")
        : decodeQuotedPrintable(data.replace(/_/g, " ")),
    );
}

function splitHeaders(raw) {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? "" : raw.slice(at).replace(/^\r?\n\r?\n/, "");
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeBody(body, encoding = "7bit") {
  switch (encoding.toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    case "quoted-printable":
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

/** The text/plain and text/html parts of a MIME entity, decoded, depth-first. */
function parts(raw) {
  const { headers, body } = splitHeaders(raw);
  const type = headers["content-type"] ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const found = [];
    const sections = body.split(new RegExp(`^--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:--)?\\s*$`, "m"));
    for (const section of sections.slice(1)) {
      if (section.trim() === "") continue;
      found.push(...parts(section.replace(/^\r?\n/, "")));
    }
    return found;
  }
  return [{ type: type.split(";")[0].trim().toLowerCase(), content: decodeBody(body, headers["content-transfer-encoding"]) }];
}

/** A raw message (headers + body, CRLF) as {from, to, subject, text, html, raw}. */
export function parseMessage(raw, envelope = { from: "", to: [] }) {
  const { headers } = splitHeaders(raw);
  const found = parts(raw);
  return {
    from: envelope.from,
    to: envelope.to,
    subject: decodeHeader(headers.subject ?? ""),
    text: found.find((p) => p.type === "text/plain")?.content ?? "",
    html: found.find((p) => p.type === "text/html")?.content ?? "",
    raw,
  };
}

/** The 6-digit code on a line of its own, and the first link with a token, of a mail's text. */
export function codeAndLink(mail) {
  const code = /^\s*(\d{6})\s*$/m.exec(mail.text)?.[1];
  const link = /(https?:\/\/\S+?[?&]token=[A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  const token = link ? new URL(link).searchParams.get("token") : undefined;
  return { code, link, token };
}

/** Starts the sink on 127.0.0.1 (port 0: any free port). */
export async function startSmtpSink({ port = 0 } = {}) {
  const mails = [];
  const waiters = new Set();
  const sockets = new Set();

  const deliver = (mail) => {
    mails.push(mail);
    for (const waiter of [...waiters]) waiter();
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    let buffer = "";
    let inData = false;
    let envelope = { from: "", to: [] };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply("220 todoql-test-sink ESMTP");
    socket.on("data", (chunk) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          const atStart = buffer.startsWith(".\r\n");
          if (end < 0 && !atStart) return;
          const data = atStart ? "" : buffer.slice(0, end);
          buffer = atStart ? buffer.slice(3) : buffer.slice(end + 5);
          inData = false;
          // Undo dot-stuffing (RFC 5321 4.5.2).
          const raw = data.replace(/^\.\./gm, ".");
          deliver(parseMessage(raw, envelope));
          envelope = { from: "", to: [] };
          reply("250 2.0.0 queued");
          continue;
        }
        const newline = buffer.indexOf("\r\n");
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          reply("250-todoql-test-sink");
          reply("250-8BITMIME");
          reply("250 SMTPUTF8");
        } else if (verb === "HELO") reply("250 todoql-test-sink");
        else if (verb === "MAIL") {
          envelope.from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          reply("250 2.1.0 ok");
        } else if (verb === "RCPT") {
          envelope.to.push((/<([^>]*)>/.exec(line)?.[1] ?? "").toLowerCase());
          reply("250 2.1.5 ok");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 end data with <CR><LF>.<CR><LF>");
        } else if (verb === "RSET") {
          envelope = { from: "", to: [] };
          reply("250 2.0.0 ok");
        } else if (verb === "NOOP") reply("250 2.0.0 ok");
        else if (verb === "QUIT") {
          reply("221 2.0.0 bye");
          socket.end();
          return;
        } else reply("502 5.5.2 command not implemented");
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address();

  return {
    port: address.port,
    url: `smtp://127.0.0.1:${address.port}?tls=none`,
    mails,
    /** Every mail to `to` so far. */
    mailsTo(to) {
      return mails.filter((m) => m.to.includes(to.toLowerCase()));
    },
    /** The first mail to `to` (after the first `skip` of them) that matches, waiting for it. */
    waitForMail(to, { timeoutMs = 15000, skip = 0, match = () => true } = {}) {
      const find = () => mails.filter((m) => m.to.includes(to.toLowerCase()) && match(m))[skip];
      return new Promise((resolve, reject) => {
        const found = find();
        if (found) return resolve(found);
        const check = () => {
          const mail = find();
          if (mail) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(mail);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no mail to ${to} within ${timeoutMs} ms (got ${mails.length} mails in all)`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
