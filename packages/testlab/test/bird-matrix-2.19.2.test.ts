// The BIRD-facing tests on BIRD 2.19.2 (long tier): see bird-matrix.ts.
import { birdMatrixLine } from './bird-matrix.js';

birdMatrixLine('2.19.2');
