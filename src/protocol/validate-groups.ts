import { INVITE_PATTERN, type GroupRequestFrame } from "./frames.ts";
import { bool, groupChat, requestId, text, userId, userList, type FrameParsers } from "./validate-fields.ts";

const MAX_GROUP_NAME_LENGTH = 100;

/** Creating a group and changing its membership; every one but `group.create` names the group. */
export const GROUP_PARSERS: FrameParsers<GroupRequestFrame> = {
  "group.create": (fields) => ({ t: "group.create", r: requestId(fields), name: text(fields, "name", MAX_GROUP_NAME_LENGTH), members: userList(fields, "members", true) }),
  "group.add": (fields) => ({ t: "group.add", r: requestId(fields), chat: groupChat(fields), users: userList(fields, "users", false) }),
  "group.remove": (fields) => ({ t: "group.remove", r: requestId(fields), chat: groupChat(fields), user: userId(fields, "user") }),
  "group.leave": (fields) => ({ t: "group.leave", r: requestId(fields), chat: groupChat(fields) }),
  "group.info": (fields) => ({ t: "group.info", r: requestId(fields), chat: groupChat(fields) }),
  "group.admin": (fields) => ({ t: "group.admin", r: requestId(fields), chat: groupChat(fields), user: userId(fields, "user"), admin: bool(fields, "admin") }),
  "group.join": (fields) => ({ t: "group.join", r: requestId(fields), chat: groupChat(fields), invite: text(fields, "invite", 32, INVITE_PATTERN) }),
};
