/** The daemon's version (shown in status and the start-up log). */
export { PRODUCT_VERSION as VERSION } from '@vipcontrol/core';
