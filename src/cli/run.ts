// Runs the CLI from the TypeScript sources (used by `npm start`); bin/tatami.js runs the compiled build.
import { main } from './main.js';

await main(process.argv);
