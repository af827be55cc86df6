// A CPU profile of every Node process a bench starts, for docs/design/proof.md "Performance". Node
// 20 refuses --cpu-prof in NODE_OPTIONS, and the bench spawns the services itself, so this preload
// runs the inspector's profiler in each process and writes <dir>/<script>-<pid>.cpuprofile when
// it exits (services exit through process.exit on SIGTERM, so 'exit' fires). Not a test.
//   CAIRN_CPU_PROFILE_DIR=/tmp/prof NODE_OPTIONS="--import $PWD/services/proof/dist/bench/cpu-profile.js" npm run bench -w @cairn/proof
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Microseconds between samples: fine enough for a 3 s phase, coarse enough to stay cheap. */
const SAMPLE_INTERVAL_US = 200;

const dir = process.env['CAIRN_CPU_PROFILE_DIR'] ?? 'cpu-profiles';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: SAMPLE_INTERVAL_US });
session.post('Profiler.start');
process.on('exit', () => {
  // An in-process session answers synchronously, so the profile is written before the exit.
  session.post('Profiler.stop', (error, result) => {
    if (error !== null) return;
    mkdirSync(dir, { recursive: true });
    const name = basename(process.argv[1] ?? 'node').replace(/\W/g, '_');
    writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
