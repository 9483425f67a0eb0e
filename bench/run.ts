// `npm run bench`: flatgrad against its peers (bench/index.ts). `npm run bench -- compile`: compile time by graph size (bench/compile.ts).
if (process.argv.slice(2).includes('compile')) await import('./compile.ts');
else await import('./index.ts');
