import { createSocket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';

const NTP_UNIX_DELTA = 2_208_988_800;

/** ok: a valid reply; garbage: 20 bytes of noise; drop: never answers; kod: a kiss-o'-death (stratum 0, RATE). */
export type SntpMode = 'ok' | 'garbage' | 'drop' | 'kod';

export interface SntpServer {
  port: number;
  /** `127.0.0.1:<port>`, as a clock spec's `server`. */
  address: string;
  /** The server's clock offset from the real one, ms; changeable between queries. */
  offsetMs: number;
  mode: SntpMode;
  close(): Promise<void>;
}

/** An SNTPv4 server (RFC 4330) on 127.0.0.1 port 0 whose clock runs `offsetMs` ahead of the real one. */
export async function startSntpServer(offsetMs = 0, mode: SntpMode = 'ok'): Promise<SntpServer> {
  const socket = createSocket('udp4');
  const server: SntpServer = { port: 0, address: '', offsetMs, mode, close: () => new Promise((r) => socket.close(() => r())) };
  socket.on('message', (req: Buffer, from: RemoteInfo) => {
    if (req.length < 48 || server.mode === 'drop') return;
    if (server.mode === 'garbage') return void socket.send(Buffer.from('not an NTP packet!!!'), from.port, from.address);
    const received = Date.now() + server.offsetMs;
    const reply = Buffer.alloc(48);
    reply[0] = (0 << 6) | (4 << 3) | 4; // LI 0, version 4, mode 4 (server)
    reply[1] = server.mode === 'kod' ? 0 : 1; // stratum
    reply.write(server.mode === 'kod' ? 'RATE' : 'LOCL', 12, 'latin1'); // reference id / kiss code
    writeTimestamp(reply, 16, received); // reference
    req.copy(reply, 24, 40, 48); // originate = the client's transmit
    writeTimestamp(reply, 32, received); // receive
    writeTimestamp(reply, 40, Date.now() + server.offsetMs); // transmit
    socket.send(reply, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  server.port = socket.address().port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}

function writeTimestamp(buf: Buffer, at: number, unixMs: number): void {
  const seconds = Math.floor(unixMs / 1000) + NTP_UNIX_DELTA;
  buf.writeUInt32BE(seconds >>> 0, at);
  buf.writeUInt32BE(Math.floor(((unixMs % 1000) / 1000) * 2 ** 32) >>> 0, at + 4);
}
