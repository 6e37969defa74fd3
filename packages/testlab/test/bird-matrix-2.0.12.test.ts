// The BIRD-facing tests on BIRD 2.0.12 (long tier) when another BIRD is selected: see bird-matrix.ts.
import { birdMatrixLine } from './bird-matrix.js';

birdMatrixLine('2.0.12');
