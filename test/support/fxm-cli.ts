// Runs the fxm command from source, for tests: `node --import tsx test/support/fxm-cli.ts <args>`.
import { main } from '../../src/cli/index.js'

await main(process.argv)
