import { setFlagsFromString } from 'node:v8';
import { startedWithSemiSpaceCap } from '../src/agent/cap-young-generation.ts';

// Imported first by collector/main.ts, so it runs before the rest of the program allocates.
//
// Left to its defaults on a host with a few GB of RAM, V8 grows the young generation to 64 MB per semi-space under
// a steady heartbeat load (128 MB of new space, all of it touched and resident) and lets the old generation run to
// several times its live size between full collections: with 10,000 instances the heap held ~65 MB of live data
// inside ~300 MB. As deployed, the command line caps the young generation (node-flags.ts). A collector started
// without that cap keeps its young generation at the initial 1 MB semi-space, with a growth factor of 1 (read at
// every resize, so it takes effect from here): small, at the price of throughput under full load. The old
// generation grows by at most a quarter of its live size before the next full collection (docs/collector-memory.md).
if (!startedWithSemiSpaceCap()) setFlagsFromString('--semi-space-growth-factor=1');
setFlagsFromString('--heap-growing-percent=25');
