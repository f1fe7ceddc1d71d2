/** `tatami info`: the kernel backends, which one is active, and why the others are unavailable. */
import type { Command } from 'commander';
import { availableBackends, backend, getBackendName, withBackend } from '../backend/index.js';
import { CONV_DIRECTIONS, convGeometryOf, convPlanOf, describeConvGeometry } from '../backend/conv-plan.js';

const CONV_PLAN_FIELDS = ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw', 'stride', 'padding', 'dilation', 'groups'] as const;

/** Parses `N,C,H,W,OC,KH,KW[,stride,pad,dilation,groups]` (integers) into the planner's geometry. */
export function parseConvPlanSpec(spec: string): ReturnType<typeof convGeometryOf> {
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.length < 7 || parts.length > CONV_PLAN_FIELDS.length)
    throw new Error(
      `--conv-plan: expected N,C,H,W,OC,KH,KW[,stride,pad,dilation,groups], got '${spec}' (${parts.length} numbers)`,
    );
  const values: Record<string, number> = {};
  parts.forEach((p, i) => {
    if (!/^\d+$/.test(p))
      throw new Error(`--conv-plan: ${CONV_PLAN_FIELDS[i]} must be a non-negative integer, got '${p}'`);
    values[CONV_PLAN_FIELDS[i]] = Number(p);
  });
  const { n, c, h, w, oc, kh, kw, stride, padding, dilation, groups } = values;
  return convGeometryOf({ n, c, h, w, oc, kh, kw, stride, padding, dilation, groups });
}

/** Prints the conv planner's algorithm per direction for every accelerated build that loads here. */
function printConvPlans(spec: string): void {
  const g = parseConvPlanSpec(spec);
  console.log(`conv plan for ${describeConvGeometry(g)}`);
  console.log(`  ${'backend'.padEnd(18)} ${CONV_DIRECTIONS.map((d) => d.padEnd(15)).join(' ')}`.trimEnd());
  for (const { name, available } of availableBackends({ variants: true })) {
    if (!available || name === 'native' || name === 'reference') continue; // 'native' is one of the variants listed
    const b = withBackend(name, () => backend());
    const plans = CONV_DIRECTIONS.map((d) => convPlanOf(b, g, d) ?? '-');
    console.log(`  ${b.name.padEnd(18)} ${plans.map((p) => p.padEnd(15)).join(' ')}`.trimEnd());
  }
  console.log(`active backend: ${getBackendName()}`);
}

export function registerInfo(program: Command): Command {
  return program
    .command('info')
    .description('show the kernel backends and which one is active')
    .option(
      '--conv-plan <sizes>',
      'show which convolution algorithm each build picks: N,C,H,W,OC,KH,KW[,stride,pad,dilation,groups]',
    )
    .action((opts: { convPlan?: string }) => {
      if (opts.convPlan !== undefined) return printConvPlans(opts.convPlan);
      console.log(`active backend: ${getBackendName()}`);
      for (const b of availableBackends())
        console.log(`  ${b.name.padEnd(10)} ${b.available ? 'available' : `unavailable: ${b.reason}`}`);
    });
}
