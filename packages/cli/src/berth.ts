#!/usr/bin/env node
console.error("berth: not built yet");
process.exit(125);
