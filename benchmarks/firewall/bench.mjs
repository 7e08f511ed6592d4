#!/usr/bin/env node
// Firewall micro-benchmarks (issue 6). Run after `npx tsc -b`:
//   node benchmarks/firewall/bench.mjs
// Prints, from one run, each measurement beside its baseline and their ratio:
//   - evaluator decisions per second on 1,000 rules, baseline 10 rules;
//   - compileNftables time for 10,000 rules, baseline 1,000 rules.
// Rules and packets come from a seeded generator, so runs are comparable. Every loop is bounded by
// both an iteration count and a time budget.
import {
  compileFirewall,
  compileNftables,
  effectiveFirewallRules,
  validateFirewallRule,
} from '../../packages/core/dist/index.js';

const TIME_BUDGET_MS = Number(process.env.BENCH_MS ?? 1500);

// mulberry32: a small seeded PRNG, so the rule mix is the same on every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed) {
  const rnd = prng(seed);
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  const v4 = () => `198.${18 + int(2)}.${int(256)}.${int(256)}`;
  const port = () => 1 + int(65535);

  function rule(i) {
    const direction = rnd() < 0.7 ? 'incoming' : 'outgoing';
    // Weighted like a real policy: mostly allow and deny, a few of the others.
    const action = pick(['allow', 'allow', 'allow', 'deny', 'deny', 'force-allow', 'bypass', 'log-only']);
    const protocol = pick(['tcp', 'tcp', 'tcp', 'udp', 'icmp', 'any']);
    const input = {
      id: `b${i}`,
      name: `bench ${i}`,
      action,
      priority: int(5),
      direction,
      protocol,
      frameType: pick(['ip', 'ip', 'ipv4', 'any']),
    };
    if (protocol === 'tcp' || protocol === 'udp') {
      const from = int(60000);
      input.destinationPortType = 'multiple';
      input.destinationPortMultiple = rnd() < 0.7 ? [`${port()}`] : [`${port()}`, `${from}-${from + 500}`];
    }
    const ipShape = int(5);
    const ips = (type, extra) => Object.assign(input, { sourceIPType: type, ...extra });
    if (ipShape === 1) ips('single', { sourceIPValue: v4() });
    if (ipShape === 2) ips('masked-ip', { sourceIPValue: `198.18.${int(256)}.0`, sourceIPMask: '24' });
    if (ipShape === 3)
      ips('multiple', { sourceIPMultiple: [v4(), v4(), `198.19.${int(200)}.1-198.19.${200 + int(50)}.9`] });
    if (ipShape === 4 && input.frameType !== 'ipv4')
      ips('multiple', { sourceIPMultiple: [`2001:db8:${int(65536).toString(16)}::/48`, v4()] });
    if (direction === 'incoming' && rnd() < 0.05)
      Object.assign(input, {
        sourceMACType: 'single',
        sourceMACValue: `02:00:00:00:${int(256).toString(16).padStart(2, '0')}:01`,
      });
    const r = validateFirewallRule(input);
    if (!r.ok) throw new Error(`generator made an invalid rule: ${r.problems.join('; ')}`);
    return r.rule;
  }

  function packet() {
    const protocol = pick(['tcp', 'tcp', 'udp', 'icmp']);
    const p = {
      direction: rnd() < 0.7 ? 'incoming' : 'outgoing',
      protocol,
      sourceIp: v4(),
      destinationIp: '198.18.0.2',
    };
    if (rnd() < 0.1) {
      p.sourceIp = `2001:db8:${int(65536).toString(16)}::${int(65536).toString(16)}`;
      p.destinationIp = '2001:db8::2';
    }
    if (protocol !== 'icmp') {
      p.sourcePort = 32768 + int(28000);
      p.destinationPort = rnd() < 0.5 ? pick([22, 80, 443, 4118]) : port();
    }
    if (p.direction === 'incoming') p.sourceMac = `02:00:00:00:${int(256).toString(16).padStart(2, '0')}:01`;
    return p;
  }

  // Worst case for the evaluator: every rule is specific (TCP, one source /24 in 198.19.0.0/16,
  // one destination port) and the packets below come from 198.18.0.0/16, so no rule matches and
  // each decision walks every rule of its direction before the implicit outcome.
  function specificRule(i) {
    const r = validateFirewallRule({
      id: `s${i}`,
      name: `specific ${i}`,
      action: pick(['allow', 'deny', 'force-allow']),
      priority: int(5),
      direction: 'incoming',
      frameType: 'ip',
      protocol: 'tcp',
      destinationPortType: 'multiple',
      destinationPortMultiple: [`${port()}`],
      sourceIPType: 'masked-ip',
      sourceIPValue: `198.19.${int(256)}.0`,
      sourceIPMask: '255.255.255.0',
    });
    if (!r.ok) throw new Error(r.problems.join('; '));
    return r.rule;
  }
  function unmatchedPacket() {
    return {
      direction: 'incoming',
      protocol: 'tcp',
      sourceIp: v4().replace(/^198\.19\./, '198.18.'),
      destinationIp: '198.18.0.2',
      sourcePort: 40000,
      destinationPort: port(),
    };
  }

  return {
    rules: (n) => Array.from({ length: n }, (_, i) => rule(i)),
    packets: (n) => Array.from({ length: n }, packet),
    specificRules: (n) => Array.from({ length: n }, (_, i) => specificRule(i)),
    unmatchedPackets: (n) => Array.from({ length: n }, unmatchedPacket),
  };
}

/** Runs `fn` in batches until the time budget or `maxIterations` is spent; returns ops per second. */
function rate(fn, { maxIterations, batch = 1000 }) {
  for (let i = 0; i < Math.min(batch * 5, maxIterations); i++) fn(i); // warm-up (JIT)
  let done = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (done < maxIterations && elapsedMs < TIME_BUDGET_MS) {
    for (let i = 0; i < batch; i++) fn(done + i);
    done += batch;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { perSecond: (done / elapsedMs) * 1000, iterations: done, elapsedMs };
}

/** Median wall time of `fn` over up to `maxRuns` runs within the time budget. */
function medianMs(fn, { maxRuns }) {
  fn(); // warm-up
  const times = [];
  const start = Date.now();
  while (times.length < maxRuns && (times.length < 3 || Date.now() - start < TIME_BUDGET_MS)) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], runs: times.length };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

const gen = generator(0x5eed);
const packets = gen.packets(4096);
const mask = packets.length - 1;

// Evaluation: each matcher sees the same packet stream. The listener's hidden rule is not
// included, so the worst case really walks n rules.
function evalRate(rules, stream) {
  const matcher = compileFirewall(rules);
  let allowed = 0;
  const r = rate(
    (i) => {
      if (matcher.evaluate(stream[i & mask]).verdict === 'allow') allowed++;
    },
    { maxIterations: 20_000_000 },
  );
  return { ...r, allowed };
}

const unmatched = gen.unmatchedPackets(packets.length);
const scenarios = [
  ['mixed policy (random actions, priorities, catch-alls; most packets decided early)', (n) => gen.rules(n), packets],
  [
    'worst case (no rule matches: every decision walks all rules of its direction)',
    (n) => gen.specificRules(n),
    unmatched,
  ],
];
console.log('firewall evaluator (decisions per second, one packet per decision)');
for (const [label, make, stream] of scenarios) {
  const small = evalRate(make(10), stream);
  const large = evalRate(make(1000), stream);
  console.log(`  ${label}`);
  console.log(
    `    10 rules (baseline):  ${fmt(small.perSecond)}/s  (${fmt(small.iterations)} decisions in ${fmt(small.elapsedMs)} ms)`,
  );
  console.log(
    `    1,000 rules:          ${fmt(large.perSecond)}/s  (${fmt(large.iterations)} decisions in ${fmt(large.elapsedMs)} ms)`,
  );
  console.log(
    `    ratio:                1,000 rules are ${(small.perSecond / large.perSecond).toFixed(1)}x slower than 10`,
  );
}

function compileTime(n) {
  const rules = gen.rules(n);
  const effective = effectiveFirewallRules({ rules, listen: true });
  let bytes = 0;
  const r = medianMs(
    () => {
      bytes = compileNftables(effective, { state: 'On' }).length;
    },
    { maxRuns: 50 },
  );
  return { ...r, bytes };
}

const c1000 = compileTime(1000);
const c10000 = compileTime(10_000);
console.log('compileNftables (median wall time)');
console.log(
  `  1,000 rules (baseline): ${c1000.ms.toFixed(1)} ms  (${c1000.runs} runs, ${fmt(c1000.bytes)} bytes of script)`,
);
console.log(
  `  10,000 rules:           ${c10000.ms.toFixed(1)} ms  (${c10000.runs} runs, ${fmt(c10000.bytes)} bytes of script)`,
);
console.log(`  ratio 10,000 / 1,000:   ${(c10000.ms / c1000.ms).toFixed(1)}x for 10x the rules`);
