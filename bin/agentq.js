#!/usr/bin/env node
// The installed entry point: runs the compiled CLI. React renders with its production build unless
// told otherwise (it is several times faster than the development one).
import process from 'node:process';

process.env.NODE_ENV ??= 'production';
await import('../dist/cli/run.js');
