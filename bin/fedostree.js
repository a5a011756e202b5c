#!/usr/bin/env node
// Entry point: the CLI is TypeScript run directly by Node's type stripping (Node >= 22.18).
// The module compile cache roughly halves start-up for repeated invocations.
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/cli/main.ts');
