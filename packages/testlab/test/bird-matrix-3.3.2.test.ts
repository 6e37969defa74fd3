// The BIRD-facing tests on BIRD 3.3.2 (long tier): see bird-matrix.ts.
import { birdMatrixLine } from './bird-matrix.js';

birdMatrixLine('3.3.2');
