import type { StatusNewFrame, StatusViewedFrame } from "../protocol/frames.ts";

/** To a live UserActor: hand `frame` to every device of the user (nothing is kept for offline ones). */
export interface StatusNotice {
  type: "status.notice";
  frame: StatusNewFrame | StatusViewedFrame;
}
