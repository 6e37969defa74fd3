#!/usr/bin/env node
// Committed shim so npm links the bin before the first build; the program is compiled TypeScript.
import '../dist/src/main.js';
