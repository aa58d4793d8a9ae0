import type { AddressInfo } from 'node:net'
import type { Command } from 'commander'
import { FxmError } from '../../core/index.js'
import { createApi, createWorker, ensureDemoTenant, loadDemo, openFxm } from '../../runtime/index.js'
import { configFrom } from '../context.js'

interface DemoOptions {
  seed: string
  scale: string
  today?: string
}

/** `fxm demo`: builds the demo world and sends it through FXM's own HTTP collector. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Load the demo world into the tenant "demo": a wholesaler with customers, suppliers, products and 13 months of ' +
        'shop, order, delivery, complaint and survey data with planted patterns (ground truth in <data dir>/demo-truth.json). ' +
        'Loading the same seed again stores nothing twice.',
    )
    .option('--seed <n>', 'random seed; the same seed builds the same world', '1')
    .option(
      '--scale <s>',
      'size: 1 ≈ 2,000 customers and 370,000 events; 0.05 for a glimpse, 28 ≈ 10 million',
      '1',
    )
    .option('--today <yyyy-mm-dd>', 'the day after the last simulated day (default: today)')
    .action(async (options: DemoOptions, command: Command) => {
      const seed = Number(options.seed)
      const scale = Number(options.scale)
      if (!Number.isInteger(seed) || seed < 0) throw FxmError.invalid('--seed', 'must be a whole number')
      if (!(scale > 0 && scale <= 1000))
        throw FxmError.invalid('--scale', 'must be a number above 0 and at most 1000')
      const config = configFrom({ logLevel: 'warn', ...command.optsWithGlobals() })
      const fxm = await openFxm(config, { migrate: true })
      const worker = createWorker(fxm)
      const api = await createApi(fxm)
      try {
        await ensureDemoTenant(fxm)
        await api.listen({ port: 0, host: '127.0.0.1' })
        worker.start()
        const { port } = api.server.address() as AddressInfo
        const tty = process.stderr.isTTY === true
        let last = 0
        const report = await loadDemo(fxm, {
          baseUrl: `http://127.0.0.1:${port}`,
          seed,
          scale,
          ...(options.today ? { today: options.today } : {}),
          onProgress: ({ sent, phase }) => {
            if (!tty || Date.now() - last < 100) return
            last = Date.now()
            process.stderr.write(`\r${phase}: ${sent.toLocaleString('en-US')} events sent `)
          },
        })
        if (tty) process.stderr.write('\n')
        process.stdout.write(
          `Loaded the demo world (seed ${seed}, scale ${scale}) in ${report.seconds.toFixed(1)} s: ` +
            `${report.accepted} events accepted, ${report.duplicates} already there, ${report.rejected} rejected.\n` +
            `Planted patterns: ${report.truthFile}\n`,
        )
      } finally {
        await worker.stop()
        await api.close()
        await fxm.close()
      }
    })
}
