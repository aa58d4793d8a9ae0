#!/usr/bin/env node
// The fxm command. Build first (npm run build); npm start does that for you.
import { main } from '../dist/src/cli/index.js'

await main(process.argv)
