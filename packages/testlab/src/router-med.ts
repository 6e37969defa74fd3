import type { BirdClient, RouteInfo } from '@vipcontrol/bird';

/** The best path among one prefix's routes (the one BIRD marks primary), undefined when there is none. */
export function bestPath(routes: readonly RouteInfo[]): RouteInfo | undefined {
  return routes.find((r) => r.primary);
}

/** The MED of the best path `client`'s BIRD holds for `prefix` (`show route P all`); undefined when it has no path. */
export async function bestPathMed(client: BirdClient, prefix: string): Promise<number | undefined> {
  return bestPath(await client.showRoutes({ prefix, all: true }))?.med;
}
