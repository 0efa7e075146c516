import { createSocket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';

/** A record the fixture serves; TTL is always 60 s. */
export type DnsRecord =
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'CNAME'; target: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string };

/**
 * How the fixture answers a name: its records (a query for a type it lacks gets NOERROR with no answers), an
 * error rcode, a reply of garbage bytes (the query id followed by noise), silence, or bytes a function makes.
 */
export type DnsBehaviour =
  | { records: DnsRecord[] }
  | 'nxdomain'
  | 'servfail'
  | 'refused'
  | 'formerr'
  | 'garbage'
  | 'drop'
  | { raw: (query: Buffer) => Buffer };

export interface DnsServer {
  port: number;
  /** `127.0.0.1:<port>`, as a check spec's `server`. */
  address: string;
  /** Queries received so far. */
  queries: number;
  close(): Promise<void>;
}

const TYPE_CODES = { A: 1, CNAME: 5, AAAA: 28, SRV: 33 } as const;
const RCODES = { nxdomain: 3, servfail: 2, refused: 5, formerr: 1 } as const;

/**
 * A UDP DNS server on 127.0.0.1 (port 0) answering per name (case-insensitive, no trailing dot); a name not in
 * `zone` is NXDOMAIN. It speaks just enough of RFC 1035 for c-ares: one question, echoed verbatim, and answers
 * that point back at it.
 */
export async function startDnsServer(zone: Record<string, DnsBehaviour>): Promise<DnsServer> {
  const names = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  const socket = createSocket('udp4');
  const server: DnsServer = {
    port: 0,
    address: '',
    queries: 0,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    server.queries++;
    const reply = answer(msg, names);
    if (reply) socket.send(reply, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  server.port = socket.address().port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}

function answer(query: Buffer, names: Map<string, DnsBehaviour>): Buffer | undefined {
  const q = parseQuestion(query);
  if (!q) return undefined;
  const behaviour = names.get(q.name) ?? 'nxdomain';
  if (behaviour === 'drop') return undefined;
  if (typeof behaviour === 'object' && 'raw' in behaviour) return behaviour.raw(query);
  if (behaviour === 'garbage') return Buffer.concat([query.subarray(0, 2), Buffer.from('\x81\x80 this is not a DNS message \xff\xff\xff')]);
  const question = query.subarray(12, q.end);
  if (typeof behaviour === 'string') return Buffer.concat([header(query, RCODES[behaviour], 0), question]);
  const records = behaviour.records.filter((r) => TYPE_CODES[r.type] === q.type);
  return Buffer.concat([header(query, 0, records.length), question, ...records.map(encodeRecord)]);
}

/** The question's name (lowercased) and type, and where the question ends; undefined for anything malformed. */
function parseQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  if (msg.length < 17 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    const len = msg[at];
    if (len === undefined || len > 63) return undefined;
    at++;
    if (len === 0) break;
    labels.push(msg.toString('latin1', at, at + len));
    at += len;
  }
  if (at + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at), end: at + 4 };
}

function header(query: Buffer, rcode: number, answers: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(query.readUInt16BE(0), 0);
  const rd = query.readUInt16BE(2) & 0x0100;
  h.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | rcode, 2); // QR, AA, RD copied, RA, rcode
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers, 6);
  return h;
}

function encodeRecord(r: DnsRecord): Buffer {
  let rdata: Buffer;
  if (r.type === 'A') rdata = Buffer.from(r.address.split('.').map(Number));
  else if (r.type === 'AAAA') rdata = ipv6Bytes(r.address);
  else if (r.type === 'CNAME') rdata = encodeName(r.target);
  else {
    const fixed = Buffer.alloc(6);
    fixed.writeUInt16BE(r.priority, 0);
    fixed.writeUInt16BE(r.weight, 2);
    fixed.writeUInt16BE(r.port, 4);
    rdata = Buffer.concat([fixed, encodeName(r.target)]);
  }
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question's name at offset 12
  rr.writeUInt16BE(TYPE_CODES[r.type], 2);
  rr.writeUInt16BE(1, 4); // class IN
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([rr, rdata]);
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
