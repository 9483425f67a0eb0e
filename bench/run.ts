// `npm run bench`: flatgrad against its peers (bench/index.ts). `npm run bench -- compile`: compile time by graph size
// (bench/compile.ts). `npm run bench -- versus REV`: flatgrad at REV against the working tree (bench/versus.ts).
const args = process.argv.slice(2);
if (args.includes('compile')) await import('./compile.ts');
else if (args.includes('versus')) await import('./versus.ts');
else await import('./index.ts');
