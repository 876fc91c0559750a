/**
 * The authwatch policy pack: `pulumi preview --policy-pack policy` (docs/ci.md).
 * Every policy is mandatory: a violation fails the preview and stops an update.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("authwatch", { policies, enforcementLevel: "mandatory" });
