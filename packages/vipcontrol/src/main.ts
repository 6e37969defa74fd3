// entry point
export {};
