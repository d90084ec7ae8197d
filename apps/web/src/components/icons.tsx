// Inline icons (decorative: always aria-hidden; the button carries the label).
import type { SVGProps } from "react";

function Icon(props: Omit<SVGProps<SVGSVGElement>, "d"> & { d: string | string[] }) {
  const { d, ...rest } = props;
  return (
    <svg
      viewBox="0 0 24 24"
      width="18"
      height="18"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
      {...rest}
    >
      {(Array.isArray(d) ? d : [d]).map((p) => (
        <path key={p} d={p} />
      ))}
    </svg>
  );
}

export const MenuIcon = () => <Icon d={["M4 6h16", "M4 12h16", "M4 18h16"]} />;
export const PlusIcon = () => <Icon d={["M12 5v14", "M5 12h14"]} />;
export const PencilIcon = () => <Icon d={["M12 20h9", "M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4Z"]} />;
export const TrashIcon = () => <Icon d={["M3 6h18", "M8 6V4h8v2", "M19 6l-1 14H6L5 6", "M10 11v6", "M14 11v6"]} />;
export const SendIcon = () => <Icon d={["M22 2 11 13", "M22 2 15 22l-4-9-9-4Z"]} />;
export const StopIcon = () => <Icon d="M7 7h10v10H7z" />;
export const CloseIcon = () => <Icon d={["M18 6 6 18", "M6 6l12 12"]} />;
export const SpeakerOnIcon = () => (
  <Icon d={["M11 5 6 9H2v6h4l5 4Z", "M15.5 8.5a5 5 0 0 1 0 7", "M19 5a10 10 0 0 1 0 14"]} />
);
export const SpeakerOffIcon = () => <Icon d={["M11 5 6 9H2v6h4l5 4Z", "M23 9l-6 6", "M17 9l6 6"]} />;
export const SlidersIcon = () => (
  <Icon d={["M4 21v-7", "M4 10V3", "M12 21v-9", "M12 8V3", "M20 21v-5", "M20 12V3", "M1 14h6", "M9 8h6", "M17 16h6"]} />
);
export const AlertIcon = () => <Icon d={["M12 9v4", "M12 17h.01", "M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z"]} />;
export const BanIcon = () => <Icon d={["M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20Z", "M4.9 4.9l14.2 14.2"]} />;
export const LogoutIcon = () => <Icon d={["M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4", "M16 17l5-5-5-5", "M21 12H9"]} />;
export const MicIcon = () => (
  <Icon d={["M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3Z", "M19 10v2a7 7 0 0 1-14 0v-2", "M12 19v3"]} />
);
export const MicOffIcon = () => (
  <Icon d={["M2 2l20 20", "M9 9v3a3 3 0 0 0 5.12 2.12", "M15 9.34V5a3 3 0 0 0-5.94-.6", "M17 16.95A7 7 0 0 1 5 12v-2", "M19 10v2a7 7 0 0 1-.11 1.23", "M12 19v3"]} />
);
export const WavesIcon = () => <Icon d={["M2 12h2", "M6 8v8", "M10 5v14", "M14 8v8", "M18 10v4", "M22 12h-2"]} />;
