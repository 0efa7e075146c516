// GET load for bench/read-api.ts, in its own process so it shares no event loop with the server. Cycles through
// the given paths; prints one JSON line with the autocannon figures.
//
//   node bench/get-load.ts <base-url> <seconds> <connections> <path> [<path> ...]
import autocannon from 'autocannon';

const [url, durationS, connections, ...paths] = [process.argv[2]!, Number(process.argv[3] ?? 5), Number(process.argv[4] ?? 4), ...process.argv.slice(5)];
let n = 0;
const result = await autocannon({
  url,
  connections,
  duration: durationS,
  requests: [{ setupRequest: (req) => ({ ...req, method: 'GET', path: paths[n++ % paths.length]! }) }],
});
process.stdout.write(`${JSON.stringify({ rps: result.requests.average, total: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, non2xx: result.non2xx, errors: result.errors })}\n`);
