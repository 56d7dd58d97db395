import { Gauge, type Registry } from "prom-client";

/**
 * A label-less gauge that appears on its registry only once it has a value. prom-client prints an unset
 * gauge as 0, and for some gauges 0 is an alarm (`volly_redis_up`): absent must mean "does not apply".
 */
export class LateGauge {
  private readonly gauge: Gauge;
  private registered = false;

  constructor(private readonly registry: Registry, configuration: { readonly name: string; readonly help: string }) {
    this.gauge = new Gauge({ ...configuration, registers: [] });
  }

  set(value: number): void {
    if (!this.registered) {
      this.registry.registerMetric(this.gauge);
      this.registered = true;
    }
    this.gauge.set(value);
  }
}
