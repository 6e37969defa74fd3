/**
 * The product's version: one value for the three programs, status and the Debian package
 * (scripts/package.sh reads it from the root package.json; a test keeps the two equal).
 */
export const PRODUCT_VERSION = '0.1.0';
