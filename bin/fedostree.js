#!/usr/bin/env node
// Entry point: the CLI is TypeScript run directly by Node's type stripping (Node >= 22.18).
import '../src/cli/main.ts';
