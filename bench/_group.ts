// The benchmarks' one way to time a group of cases against a baseline, under Deno, Bun and Node alike.

/** A case: a name, and a call to time, synchronous or not. */
export type Case = [name: string, call: () => unknown];

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Microseconds per call of `call`, over `calls` calls; awaited each time only if it returns a promise. */
async function timed(call: () => unknown, calls: number, awaited: boolean): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) awaited ? await call() : call();
  return (performance.now() - start) * 1000 / calls;
}

/**
 * Times the cases in turn, round after round, so that a slower moment of a shared machine weighs on all of them
 * alike; prints each case's median time per call and, after the first (the baseline), its median ratio to the
 * baseline's time in the same round.
 *
 * @param title What the group measures.
 * @param target Its target, printed beside it.
 * @param cases The baseline first.
 * @param rounds How many times each case is timed.
 * @param calls Calls per case per round.
 */
export async function group(title: string, target: string, cases: Case[], rounds = 41, calls = 2_000): Promise<void> {
  const awaited: boolean[] = [];
  for (const [, call] of cases) {
    const first = call();
    awaited.push(first instanceof Promise);
    await first;
  }
  for (const [i, [, call]] of cases.entries()) await timed(call, calls, awaited[i]); // warm up
  const times: number[][] = cases.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, call]] of cases.entries()) times[i].push(await timed(call, calls, awaited[i]));
  }
  console.log(`\n${title} (target: ${target})`);
  cases.forEach(([name], i) => {
    const ratio = i === 0 ? "baseline" : `${median(times[i].map((time, round) => time / times[0][round])).toFixed(2)}x`;
    console.log(`  ${name.padEnd(66)} ${median(times[i]).toFixed(2).padStart(8)} µs  ${ratio}`);
  });
}
