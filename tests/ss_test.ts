import { equal, throws } from "node:assert/strict";
import { parseSsDuration } from "./_ss.ts";
import { test } from "./_harness.ts";

test("parseSsDuration() reads every form ss prints", () => {
  equal(parseSsDuration("872ms"), 872);
  equal(parseSsDuration("050ms"), 50);
  equal(parseSsDuration("8.872ms"), 8_872);
  equal(parseSsDuration("14sec"), 14_000);
  equal(parseSsDuration("1min14sec"), 74_000);
  equal(parseSsDuration("4min59sec"), 299_000);
  equal(parseSsDuration("66min"), 3_960_000);
  equal(parseSsDuration("119min"), 7_140_000);
  throws(() => parseSsDuration(""), /not an ss duration/);
  throws(() => parseSsDuration("5s"), /not an ss duration/);
});
