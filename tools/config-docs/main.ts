import { writeFileSync } from 'node:fs';
import { configurationDoc } from './render.js';

// Run from the repository root by `npm run docs`.
writeFileSync('docs/configuration.md', configurationDoc());
process.stdout.write('wrote docs/configuration.md\n');
